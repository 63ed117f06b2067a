/**
 * How a group is gathered (src/storage/group-commit.ts, `gatherTurns`): while each turn of the event
 * loop brings more writes, the group waits up to `gatherTurns` turns and takes them into the same
 * transaction; a write alone, or a turn that brought nothing, starts the group at once.
 */
import { describe, expect, it } from "vitest";
import { GroupCommit, type GroupWrite } from "../src/storage/group-commit.js";

/** A queue whose groups only record their sizes (and `events`), answering each write with null. */
function recorder(gatherTurns: number | undefined, events: string[] = []) {
  const groups: number[] = [];
  const queue = new GroupCommit({
    maxWrites: 256,
    maxInFlight: 1,
    ...(gatherTurns === undefined ? {} : { gatherTurns }),
    run: async (writes: GroupWrite[]) => {
      groups.push(writes.length);
      events.push(`group of ${writes.length}`);
      for (const write of writes) write.resolve(null);
    },
  });
  const submit = () => queue.submit(async () => null);
  return { groups, submit };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("gathering a group", () => {
  it("takes the writes of the next turns while they keep coming", async () => {
    const { groups, submit } = recorder(2);
    const calls = [submit(), submit()];
    // Queued after the group's first turn: arrives in that turn, as a request read by the next poll.
    setImmediate(() => calls.push(submit()));
    await nextTurn();
    await nextTurn();
    await nextTurn();
    await Promise.all(calls);
    expect(groups).toEqual([3]);
  });

  it("without gathering (the default), starts at the first turn", async () => {
    const { groups, submit } = recorder(undefined);
    const calls = [submit(), submit()];
    setImmediate(() => calls.push(submit()));
    await nextTurn();
    await nextTurn();
    await Promise.all(calls);
    expect(groups).toEqual([2, 1]);
  });

  it("waits no more than its turns", async () => {
    const { groups, submit } = recorder(1);
    const calls = [submit(), submit()];
    // A write every turn: the group waits one turn, then starts without the later ones.
    const more = (n: number) => {
      if (n === 0) return;
      calls.push(submit());
      setImmediate(() => more(n - 1));
    };
    setImmediate(() => more(3));
    for (let i = 0; i < 6; i++) await nextTurn();
    await Promise.all(calls);
    expect(groups.reduce((a, b) => a + b, 0)).toBe(5);
    expect(groups[0]).toBe(3);
  });

  it("starts a lone write at its first turn", async () => {
    const events: string[] = [];
    const { submit } = recorder(2, events);
    const call = submit();
    setImmediate(() => events.push("next turn"));
    await call;
    await nextTurn();
    expect(events).toEqual(["group of 1", "next turn"]);
  });
});
