// The count of presence, kept as the page keeps it: `welcome.online` (or the whole roster's length
// below PRESENCE_THRESHOLD), then +1/-1 for each `join`/`leave`, and a `presence` frame's `online`
// above the threshold, where joins and leaves arrive coalesced. It counts each kind of frame and when
// each `presence` frame came, for the scenarios that bound them (tests/scenarios/presence-crowd.mjs,
// sharded-room.mjs).

import { now } from '../clock.mjs';

export class Presence {
  constructor() {
    this.online = null;
    this.listed = null; // how many members the latest welcome listed (the whole roster, or a first page)
    this.counts = { join: 0, leave: 0, presence: 0 };
    this.presenceAt = []; // arrival time of each presence frame
  }

  attach(client) {
    this.client = client;
  }

  take(f) {
    switch (f.type) {
      case 'welcome':
        this.online = f.online ?? f.members.length;
        this.listed = f.members.length;
        break;
      case 'join':
        this.counts.join += 1;
        this.online += 1;
        break;
      case 'leave':
        this.counts.leave += 1;
        this.online -= 1;
        break;
      case 'presence':
        this.counts.presence += 1;
        this.presenceAt.push(now());
        this.online = f.online;
        if (f.joined.length > f.joins || f.left.length > f.leaves) {
          this.client.errors.push(`${this.client.name}: presence names more than it counts: ${JSON.stringify(f)}`);
        }
        break;
      default:
        break;
    }
  }
}
