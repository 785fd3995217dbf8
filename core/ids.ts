// Time-ordered ids (UUID v7) for calls and reported events. uuid's own v7 asks Web Crypto for 16 fresh bytes on every
// id, which costs more than the rest of an event's bookkeeping on the gateway's hot path (bench: gateway, all
// plugins); here the random bytes come from a pool refilled 4 KiB at a time, and the layout is still uuid's.
import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

const ID_BYTES = 16;
const POOL_IDS = 256;
const pool = new Uint8Array(ID_BYTES * POOL_IDS);
let used = POOL_IDS;

/** The time and 32-bit counter of the last id: ids made within one millisecond sort in the order they were made. */
let lastMs = -1;
let seq = 0;

function nextRandom(): Uint8Array {
  if (used === POOL_IDS) {
    randomFillSync(pool);
    used = 0;
  }
  const offset = ID_BYTES * used++;
  return pool.subarray(offset, offset + ID_BYTES);
}

/** A new UUID v7: 48 bits of Unix milliseconds, then a counter seeded at random each millisecond, then random bits. */
export function timeOrderedId(): string {
  const random = nextRandom();
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    // 31 random bits leave room to count up within the millisecond (RFC 9562, method 1: a seeded counter).
    seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else {
    // Same millisecond, or the clock went back: count up from the last id. A counter that wraps (2^31 ids in one
    // millisecond) borrows the next millisecond, as uuid's own v7 does.
    seq = (seq + 1) >>> 0;
    if (seq === 0) lastMs++;
  }
  return v7({ random, msecs: lastMs, seq });
}
