/** Merges the actors of a scenario (shoppers, bots, attackers, faults) into one stream of actions in time order. */
import type { Action } from './actions.ts';

export interface Actor {
  /** When the actor acts next (Infinity: done). */
  nextMs: number;
  /** Acts at `nextMs`: pushes actions (at `nextMs` or a little later) and moves `nextMs` on. */
  step(out: Action[]): void;
}

/** A binary min-heap. */
export class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.before(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Actions of all actors in time order up to `untilMs` (exclusive). Ties keep a stable order (sequence numbers), so the
 * same actors always give the same stream.
 */
export function* actionStream(actors: readonly Actor[], untilMs: number): Generator<Action> {
  let seq = 0;
  const ready = new Heap<{ actor: Actor; seq: number }>((a, b) => a.actor.nextMs < b.actor.nextMs || (a.actor.nextMs === b.actor.nextMs && a.seq < b.seq));
  const pending = new Heap<{ action: Action; seq: number }>((a, b) => a.action.timeMs < b.action.timeMs || (a.action.timeMs === b.action.timeMs && a.seq < b.seq));
  for (const actor of actors) if (actor.nextMs < untilMs) ready.push({ actor, seq: seq++ });
  const out: Action[] = [];
  for (;;) {
    const nextActor = ready.peek();
    const horizon = nextActor ? nextActor.actor.nextMs : Infinity;
    // An action can be emitted once no actor can still produce an earlier one.
    while (pending.size > 0 && pending.peek()!.action.timeMs <= horizon) {
      const { action } = pending.pop()!;
      if (action.timeMs < untilMs) yield action;
    }
    if (!nextActor) return;
    ready.pop();
    out.length = 0;
    nextActor.actor.step(out);
    for (const action of out) pending.push({ action, seq: seq++ });
    if (nextActor.actor.nextMs < untilMs) ready.push({ actor: nextActor.actor, seq: seq++ });
  }
}
