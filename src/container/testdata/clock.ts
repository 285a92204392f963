/** A clock for tests: time moves only when told to. */
export interface FakeClock {
  now: () => Date;
  advance(ms: number): void;
  set(t: Date): void;
}

export function fakeClock(start = new Date("2024-03-01T12:00:00.000Z")): FakeClock {
  let t = start.getTime();
  return {
    now: () => new Date(t),
    advance: (ms) => {
      t += ms;
    },
    set: (d) => {
      t = d.getTime();
    },
  };
}
