/**
 * The mesh's policy pack: `pulumi preview --policy-pack infra/policy`. Only the pack lives here,
 * because `new PolicyPack()` starts serving at once; the rules are in policies.ts.
 */
import { PolicyPack } from '@pulumi/policy';
import { policies } from './policies';

new PolicyPack('event-mesh', { policies });
