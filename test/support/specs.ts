/** Specs for tests: the default mesh.yaml, or YAML text with schema folders resolved from the repo. */
import * as path from 'node:path';
import { loadSpec, parseSpec, type MeshSpec } from '../../shared/spec';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export const defaultSpec = (): MeshSpec => loadSpec(path.join(REPO_ROOT, 'mesh.yaml'));

/** Parses spec text as if it were a file at the repo root (so `schemas/...` folders resolve). */
export const specFromText = (text: string): MeshSpec => parseSpec(text, path.join(REPO_ROOT, 'test-spec.yaml'));
