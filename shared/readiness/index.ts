/** The launch checklist (checklist.ts) and the facts it needs from the repository (repo-facts.ts). */
export * from './checklist';
export * from './repo-facts';
