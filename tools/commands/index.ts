/** Every `mesh` sub-command; each module exports `register(program)`. */
import type { Command } from 'commander';
import { register as validate } from './validate';
import { register as apply } from './apply';

export const commands: ((program: Command) => void)[] = [validate, apply];
