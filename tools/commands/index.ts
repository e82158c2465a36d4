/** Every `mesh` sub-command; each module exports `register(program)`. */
import type { Command } from 'commander';
import { register as validate } from './validate';
import { register as apply } from './apply';
import { register as up } from './up';
import { register as doctor } from './doctor';
import { register as plan } from './plan';
import { register as load } from './load';
import { register as query } from './query';
import { register as status } from './status';
import { register as deadLetters } from './dead-letters';
import { register as smoke } from './smoke';
import { register as parity } from './parity';
import { register as faults } from './faults';
import { register as replay } from './replay';
import { register as audit } from './audit';
import { register as pause } from './pause';
import { register as runbooks } from './runbooks';
import { register as canary } from './canary';
import { register as schema } from './schema';
import { register as catalog } from './catalog';
import { register as readiness } from './readiness';

export const commands: ((program: Command) => void)[] = [
  validate,
  apply,
  up,
  doctor,
  plan,
  load,
  query,
  status,
  deadLetters,
  smoke,
  parity,
  faults,
  replay,
  audit,
  pause,
  runbooks,
  canary,
  schema,
  catalog,
  readiness,
];
