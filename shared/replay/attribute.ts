/** Attribute on every replayed message: the replay's id. Effects record it (warehouse `replay_id`, processor `lastReplayId`). */
export const REPLAY_ID_ATTRIBUTE = 'replayId';
