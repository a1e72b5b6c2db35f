import { printable } from '../shared/printable';
import type { EbbClient, GroupEvent, GroupInfo } from '../client-sdk/src';
import { findGroups, groupEventLine, groupLabel, groupLines, groupRefusal, words } from './groups';

/** What the group commands need from the session they run in. */
export interface GroupHost {
  readonly client: () => EbbClient;
  readonly print: (text: string) => void;
  /** The user a word names (`@name`, a user id, `#N`), or undefined after printing why there is none. */
  readonly resolve: (ref: string) => Promise<string | undefined>;
  /** How a user is shown: "you" for this account. */
  readonly label: (userId: string) => string;
}

const USAGE = {
  new: '/group new NAME @user @user …',
  add: '/group add #group @user …',
  remove: '/group remove #group @user …',
  promote: '/group promote #group @user …',
  rename: '/group rename #group NEW NAME',
  leave: '/group leave #group',
} as const;
type Subcommand = keyof typeof USAGE;

/**
 * `/group …` and `/groups` of the terminal chat (ARCH §8.9), and the lines group events print as. Groups
 * are named `#name` (or `#"a name"`, or `#` and the group's id); members as for `/to`.
 */
export class GroupCommands {
  /** The name each group had when last seen, so a rename can say what it was. */
  private readonly names = new Map<string, string>();

  constructor(private readonly host: GroupHost) {}

  /** Remembers the names of the groups this device is in (at start, before any event). */
  learn(): void {
    for (const group of this.host.client().groups()) this.names.set(group.id, group.name);
  }

  /** Prints a group event as a line. */
  event(event: GroupEvent): void {
    const before = this.names.get(event.group.id);
    this.names.set(event.group.id, event.group.name);
    this.host.print(groupEventLine(event, this.host.client().userId, this.host.label, before));
  }

  /** `#ops` for a group id this device knows of, else `#` and the id. */
  labelOf(groupId: string): string {
    const name = this.host.client().group(groupId)?.name ?? this.names.get(groupId);
    return name === undefined ? `#${groupId}` : groupLabel(name);
  }

  /** The group `ref` (`#ops`, `#"ops team"`, `#` and an id) names, or undefined after printing why there is none. */
  find(ref: string): GroupInfo | undefined {
    if (!ref.startsWith('#') || ref.length < 2) {
      this.host.print(`${printable(ref)} is not a group: name one as #name (/groups lists them)`);
      return undefined;
    }
    const found = findGroups(this.host.client().groups(), ref.slice(1));
    if (found.length === 1) return found[0];
    if (found.length === 0) this.host.print(`you are in no group ${printable(ref)} (/groups lists them)`);
    else this.host.print(`${found.length} groups are called ${printable(ref)}: name one by its id, ${found.map((g) => `#${g.id}`).join(' or ')}`);
    return undefined;
  }

  /** `/groups`: every group this device is in, with its members, admins marked. */
  list(): void {
    const groups = this.host.client().groups();
    if (groups.length === 0) {
      this.host.print('you are in no group: /group new NAME @user … makes one');
      return;
    }
    this.host.print(`your groups (${groups.length}):`);
    for (const group of groups) for (const line of groupLines(group, this.host.label)) this.host.print(line);
  }

  /** `/group SUBCOMMAND …`. */
  async run(rest: string): Promise<void> {
    const parts = words(rest);
    const [sub = '', ...args] = parts ?? [];
    if (parts === undefined || !Object.hasOwn(USAGE, sub)) {
      this.host.print(`usage: ${Object.values(USAGE).join(' | ')}`);
      return;
    }
    const subcommand = sub as Subcommand;
    if (subcommand === 'new') return this.create(args);
    return this.change(subcommand, args);
  }

  private async change(subcommand: Exclude<Subcommand, 'new'>, args: string[]): Promise<void> {
    const [ref, ...more] = args;
    if (ref === undefined || (subcommand === 'leave' ? more.length > 0 : more.length === 0)) {
      this.host.print(`usage: ${USAGE[subcommand]}`);
      return;
    }
    const group = this.find(ref);
    if (group === undefined) return;
    const client = this.host.client();
    await this.refusing(group, async () => {
      switch (subcommand) {
        case 'leave':
          await client.leaveGroup(group.id);
          return;
        case 'rename':
          await client.renameGroup(group.id, more.join(' '));
          return;
        case 'add':
        case 'remove':
        case 'promote': {
          const users = await this.users(more);
          if (users === undefined) return;
          if (subcommand === 'add') await client.addGroupMembers(group.id, users);
          else if (subcommand === 'remove') await client.removeGroupMembers(group.id, users);
          else await client.promoteGroupMembers(group.id, users);
        }
      }
    });
  }

  private async create(args: string[]): Promise<void> {
    const [name, ...refs] = args;
    if (name === undefined || name.startsWith('@')) {
      this.host.print(`usage: ${USAGE.new} (a name of several words in "double quotes")`);
      return;
    }
    const users = await this.users(refs);
    if (users === undefined) return;
    const self = this.host.client().userId;
    const members = [...new Set(users)].filter((user) => user !== self);
    await this.refusing({ name }, () => this.host.client().createGroup({ name, members }));
  }

  /** The users `refs` name, or undefined once one names nobody (the host said why). */
  private async users(refs: readonly string[]): Promise<string[] | undefined> {
    const users: string[] = [];
    for (const ref of refs) {
      const user = await this.host.resolve(ref);
      if (user === undefined) return undefined;
      users.push(user);
    }
    return users;
  }

  /** Runs a group call; a refusal about the group prints as a sentence, anything else goes to the session. */
  private async refusing(group: Pick<GroupInfo, 'name'>, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (err) {
      const sentence = groupRefusal(err, groupLabel(group.name));
      if (sentence === undefined) throw err;
      this.host.print(sentence);
    }
  }
}
