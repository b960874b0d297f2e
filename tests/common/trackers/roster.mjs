// The member list, as a socket below PRESENCE_THRESHOLD learns it: the welcome's members, then every
// `join` and `leave`. A join of someone already present, or a leave of someone absent, is a broken
// guarantee (tests/scenarios/crowd.mjs checks every socket's list against the server's).

export class Roster {
  constructor() {
    this.members = new Map(); // id -> name
  }

  attach(client) {
    this.client = client;
  }

  take(f) {
    switch (f.type) {
      case 'welcome':
        this.members = new Map(f.members.map((u) => [u.id, u.name]));
        break;
      case 'join':
        if (this.members.has(f.user.id)) this.client.errors.push(`${this.client.name}: join for ${f.user.id} already present`);
        this.members.set(f.user.id, f.user.name);
        break;
      case 'leave':
        if (!this.members.delete(f.user.id)) this.client.errors.push(`${this.client.name}: leave for ${f.user.id} not present`);
        break;
      default:
        break;
    }
  }
}
