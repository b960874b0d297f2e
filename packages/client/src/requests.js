//! Requests and their answers: a frame with an `id` the room answers (an `ack`, an answer frame, or
//! an `error` naming the id) becomes a promise that settles on that answer. Mixed into `ChatClient`
//! (client.js); `pending` (request id → waiter) is the client's own field.

import { ChatError } from './errors.js';
import { messageId } from './identity.js';

/** Marks a promise handled, so a caller who does not wait for an answer gets no unhandled rejection
 * (Node ends the process on one); a caller who awaits it still gets the error. */
export function quiet(promise) {
  promise.catch(() => {});
  return promise;
}

/** @satisfies {ThisType<import('./client.js').ChatClient>} */
export const requests = {
  /**
   * Sends a frame that the room answers by its `id` (an ack, or an answer frame) and waits for that
   * answer: resolves with it, rejects with a ChatError when the room refuses the frame. `kind` says
   * what a dropped socket means: 'query' (history, search, roster, log, auth) fails with `offline`,
   * since its answer went with the socket; 'action' (an edit, deletion, reaction, moderation) stays
   * and is sent again after the reconnect (each is idempotent at the room), so it waits on.
   */
  request(frame, kind = 'query') {
    const id = frame.id ?? messageId();
    const sent = { ...frame, id };
    if (kind === 'query' && !this.transmit(sent)) return quiet(Promise.reject(new ChatError('offline', 'not connected')));
    const promise = quiet(new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, kind, frame: sent })));
    return promise;
  },

  /** The answer to request `id` arrived: the waiting promise resolves (true if one was waiting). */
  answer(id, value) {
    const waiter = id == null ? null : this.pending.get(id);
    if (!waiter) return false;
    this.pending.delete(id);
    waiter.resolve(value);
    return true;
  },

  /** Request `id` was refused (or can no longer be answered): the waiting promise rejects. */
  refuseRequest(id, error) {
    const waiter = id == null ? null : this.pending.get(id);
    if (!waiter) return false;
    this.pending.delete(id);
    waiter.reject(error);
    return true;
  },

  /** Rejects every promise still waiting (messages and requests): the client stopped or was refused. */
  failAll(error) {
    for (const id of [...this.pending.keys()]) this.refuseRequest(id, error);
    for (const [key, waiter] of [...this.sends]) {
      this.sends.delete(key);
      waiter.reject(error);
    }
  },
};
