// What crossed the wire to one socket: WebSocket frames, their characters, and how many were `batch`
// frames (a socket that asked for batch=1; a v1 socket must never get one). For the figures of frames
// and bytes per socket (tests/scenarios/presence-crowd.mjs). A recording Client keeps the frames
// themselves (`raw`, `batches`); a lean one counts with this.

export class Traffic {
  constructor() {
    this.frames = 0;
    this.bytes = 0;
    this.batches = 0;
  }

  wire(text, outer) {
    this.frames += 1;
    this.bytes += text?.length ?? 0;
    if (outer?.type === 'batch') this.batches += 1;
  }
}
