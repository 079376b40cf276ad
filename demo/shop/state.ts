/**
 * The shop's mutable state: feature flags (the Demo's flagd), carts (the cart service's cache), accounts and logged-in
 * sessions (the frontend's), and how loaded the frontend is. Bounded: old carts and sessions are forgotten.
 */
import { PRODUCT_IDS, type ServiceName } from './catalog.ts';
import { Random } from './random.ts';

export interface Account {
  id: string;
  username: string;
  password: string;
  email: string;
}

export interface CartItem {
  productId: string;
  quantity: number;
}

/** Requests per second the frontend serves before it queues and then sheds load. */
export const FRONTEND_CAPACITY_RPS = 350;

/** Flags a scenario turns on and off (the Demo's `productCatalogFailure`, and a slow service). */
export interface Flags {
  failingProduct?: string;
  /** Extra median latency (ms) of a service's server spans. */
  slowServices: Partial<Record<ServiceName, number>>;
}

export class ShopState {
  readonly flags: Flags = { slowServices: {} };
  readonly accounts: Map<string, Account>;
  private readonly carts = new Map<string, CartItem[]>();
  private readonly sessions = new Map<string, string>();
  /** Frontend requests per 100 ms slot of the last second (load). */
  private readonly slots = new Float64Array(10);
  private slotTime = 0;

  constructor(accounts: readonly Account[] = shopAccounts()) {
    this.accounts = new Map(accounts.map((a) => [a.username, a]));
  }

  cart(userId: string): CartItem[] {
    return this.carts.get(userId) ?? [];
  }

  addToCart(userId: string, item: CartItem): void {
    const items = this.carts.get(userId) ?? [];
    const existing = items.find((i) => i.productId === item.productId);
    if (existing) existing.quantity += item.quantity;
    else items.push({ ...item });
    this.carts.delete(userId);
    this.carts.set(userId, items);
    if (this.carts.size > 50_000) this.carts.delete(this.carts.keys().next().value as string);
  }

  emptyCart(userId: string): void {
    this.carts.delete(userId);
  }

  login(token: string, username: string): void {
    this.sessions.set(token, username);
    if (this.sessions.size > 50_000) this.sessions.delete(this.sessions.keys().next().value as string);
  }

  sessionUser(token: string | undefined): Account | undefined {
    const name = token === undefined ? undefined : this.sessions.get(token);
    return name === undefined ? undefined : this.accounts.get(name);
  }

  /** Counts a frontend request at `nowMs`; returns the frontend's load (requests in the last second / capacity). */
  frontendArrival(nowMs: number): number {
    const slot = Math.floor(nowMs / 100);
    if (slot > this.slotTime) {
      for (let s = Math.max(this.slotTime + 1, slot - 9); s <= slot; s++) this.slots[s % 10] = 0;
      this.slotTime = slot;
    }
    if (slot >= this.slotTime - 9) this.slots[slot % 10]! += 1;
    let total = 0;
    for (const n of this.slots) total += n;
    return total / FRONTEND_CAPACITY_RPS;
  }
}

const FIRST = ['james', 'mary', 'john', 'patricia', 'robert', 'jennifer', 'michael', 'linda', 'david', 'elizabeth', 'william', 'barbara', 'richard', 'susan', 'joseph', 'jessica', 'thomas', 'sarah', 'carlos', 'karen', 'wei', 'yuki', 'aisha', 'omar', 'lucia', 'sven', 'priya', 'mateo', 'chloe', 'noah', 'emma', 'liam', 'olivia', 'ava', 'sofia', 'lena', 'hugo', 'ines', 'marta', 'pavel'];
const LAST = ['smith', 'johnson', 'williams', 'brown', 'jones', 'garcia', 'miller', 'davis', 'rodriguez', 'martinez', 'hernandez', 'lopez', 'gonzalez', 'wilson', 'anderson', 'thomas', 'taylor', 'moore', 'jackson', 'martin', 'lee', 'chen', 'tanaka', 'khan', 'rossi', 'nilsson', 'patel', 'silva', 'dubois', 'novak'];

/** Passwords people really use; some customers do too, which is why stuffing and spraying sometimes work. */
export const COMMON_PASSWORDS = ['123456', 'password', '123456789', 'qwerty', '12345678', '111111', 'abc123', 'password1', 'iloveyou', 'Password1', 'Welcome1', 'Welcome123', 'Summer2024!', 'Spring2025', 'Winter2024!', 'letmein', 'monkey', 'dragon', 'football', 'baseball', 'sunshine', 'princess', 'admin123', 'qwerty123', 'P@ssw0rd', 'Passw0rd!', 'Telescope1', 'Starlight1', 'Changeme1', 'trustno1'];

/** The shop's customer accounts: the same for every scenario (a shop's user base does not depend on the test). */
export function shopAccounts(count = 2000): Account[] {
  const rng = new Random(0x5f0b);
  const out: Account[] = [];
  const taken = new Set<string>();
  while (out.length < count) {
    const first = rng.pick(FIRST);
    const last = rng.pick(LAST);
    const style = rng.int(0, 3);
    const username = style === 0 ? `${first}.${last}` : style === 1 ? `${first[0]}${last}${rng.int(1, 99)}` : style === 2 ? `${first}${last[0]}${rng.int(70, 99)}` : `${first}_${last}`;
    if (taken.has(username)) continue;
    taken.add(username);
    const reused = rng.chance(0.03);
    out.push({
      id: rng.hex(8),
      username,
      password: reused ? rng.pick(COMMON_PASSWORDS) : `${rng.token(10)}${rng.pick(['!', '#', '7', '$', '2'])}`,
      email: `${username.replace(/_/g, '.')}@${rng.pick(['gmail.com', 'outlook.com', 'yahoo.com', 'proton.me', 'icloud.com', 'example.org'])}`,
    });
  }
  return out;
}

export function isProduct(id: string): boolean {
  return PRODUCT_IDS.includes(id);
}
