/** Every corpus case, by topic. */
import type { Case } from '../case';
import { aggregateCases } from './aggregates';
import { miscCases } from './misc';
import { timeCases } from './time';

export const corpus: Case[] = [...timeCases, ...aggregateCases, ...miscCases];
