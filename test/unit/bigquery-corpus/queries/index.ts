/** Every corpus case, by topic. */
import type { Case } from '../case';
import { aggregateCases } from './aggregates';
import { arrayCases } from './arrays';
import { funnelCases } from './funnels';
import { jsonCases } from './json';
import { miscCases } from './misc';
import { paramCases } from './params';
import { safeCases } from './safe';
import { stringCases } from './strings';
import { structCases } from './structs';
import { timeCases } from './time';
import { windowCases } from './windows';

export const corpus: Case[] = [
  ...timeCases,
  ...aggregateCases,
  ...windowCases,
  ...arrayCases,
  ...structCases,
  ...stringCases,
  ...jsonCases,
  ...safeCases,
  ...funnelCases,
  ...paramCases,
  ...miscCases,
];
