/**
 * Channel-password challenges waiting for a proof (comm-ipc 4.2). Bounded per
 * client, expired after 60 s, dropped with the client: comm-ipc keeps them
 * forever and later kicks clients for their age (quirk 14.1); we do neither.
 */
import { randomUUID } from 'node:crypto';
import type { Fields } from '../protocol/codec';
import { randomChallenge } from '../security/signing';

/** A proof older than this is refused with `Challenge expired` (comm-ipc: 60 s). */
export const CHALLENGE_TTL_MS = 60_000;
/** Challenges one client may have outstanding; the oldest is dropped beyond. */
export const MAX_CHALLENGES_PER_CLIENT = 32;

export interface PendingChallenge {
  readonly challenge: string;
  readonly registration: Fields;
  readonly issuedAt: number;
}

export class ChallengeStore {
  private readonly byClient = new Map<string, Map<string, PendingChallenge>>();

  issue(clientId: string, registration: Fields): { challengeId: string; challenge: string } {
    let mine = this.byClient.get(clientId);
    if (!mine) {
      mine = new Map();
      this.byClient.set(clientId, mine);
    }
    if (mine.size >= MAX_CHALLENGES_PER_CLIENT) mine.delete(mine.keys().next().value as string);
    const challengeId = randomUUID();
    const challenge = randomChallenge();
    mine.set(challengeId, { challenge, registration, issuedAt: Date.now() });
    return { challengeId, challenge };
  }

  /** Removes and returns the challenge, or undefined if unknown. */
  take(clientId: string, challengeId: string): PendingChallenge | undefined {
    const mine = this.byClient.get(clientId);
    const entry = mine?.get(challengeId);
    if (!mine || !entry) return undefined;
    mine.delete(challengeId);
    if (mine.size === 0) this.byClient.delete(clientId);
    return entry;
  }

  dropClient(clientId: string): void {
    this.byClient.delete(clientId);
  }

  /** Drops challenges past twice their lifetime (the proof would be refused anyway). */
  sweep(now = Date.now()): void {
    for (const [id, mine] of this.byClient) {
      for (const [cid, entry] of mine) if (now - entry.issuedAt > 2 * CHALLENGE_TTL_MS) mine.delete(cid);
      if (mine.size === 0) this.byClient.delete(id);
    }
  }
}
