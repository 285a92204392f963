import { randomInt } from "node:crypto";
import { errConflict, errInvalidArgument, errNotFound } from "./errors.js";

// moby daemon/names: a name is at least two characters and starts with a letter or digit.
const VALID_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Returns the name in its canonical form, with a leading slash ("/web"); throws invalid-argument. */
export function normalizeContainerName(name: string): string {
  if (!VALID_NAME.test(name)) {
    throw errInvalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return name.startsWith("/") ? name : "/" + name;
}

export function isValidContainerName(name: string): boolean {
  return VALID_NAME.test(name);
}

/** Random integer in [0, n); injectable so generated names are reproducible in tests. */
export type RandomInt = (n: number) => number;

const ADJECTIVES = [
  "admiring", "agile", "amazing", "bold", "boring", "brave", "calm", "clever", "cool", "crazy",
  "dazzling", "determined", "eager", "ecstatic", "elegant", "epic", "fervent", "focused", "friendly",
  "gallant", "gentle", "goofy", "happy", "hopeful", "jolly", "keen", "kind", "laughing", "loving",
  "lucid", "modest", "nervous", "nifty", "optimistic", "patient", "peaceful", "pensive", "quirky",
  "relaxed", "serene", "sharp", "stoic", "sweet", "tender", "trusting", "upbeat", "vibrant",
  "wizardly", "youthful", "zealous",
];

// Scientists and engineers, as in docker's generator.
const SURNAMES = [
  "agnesi", "babbage", "bardeen", "bohr", "curie", "darwin", "dijkstra", "einstein", "euclid",
  "euler", "faraday", "fermat", "fermi", "feynman", "franklin", "galileo", "gauss", "goldwasser",
  "goodall", "hamilton", "hawking", "heisenberg", "hopper", "hypatia", "johnson", "kepler",
  "knuth", "kowalevski", "lamarr", "lamport", "leakey", "lovelace", "maxwell", "meitner",
  "mendel", "mirzakhani", "newton", "noether", "pasteur", "perlman", "planck", "ritchie",
  "shannon", "somerville", "tesla", "thompson", "torvalds", "turing", "wozniak", "yalow",
];

const secureRandomInt: RandomInt = (n) => randomInt(n);

/**
 * A docker-like name, "adjective_surname". A retry (attempt > 0) appends a digit to get out of a
 * crowded space, as docker's namesgenerator does.
 */
export function generateContainerName(attempt = 0, random: RandomInt = secureRandomInt): string {
  for (;;) {
    let name = `${ADJECTIVES[random(ADJECTIVES.length)]}_${SURNAMES[random(SURNAMES.length)]}`;
    // Docker's own joke, kept: Steve Wozniak is not boring.
    if (name === "boring_wozniak") continue;
    if (attempt > 0) name += String(random(10));
    return name;
  }
}

/**
 * Names to container IDs. Every operation is synchronous, so a reservation is atomic: of two
 * creates racing for one name, whichever reserves first wins and the other gets a conflict, no
 * matter how their awaits interleave.
 */
export interface NameRegistry {
  /**
   * Reserves `name` (with or without leading slash) for `id` and returns the canonical name.
   * Idempotent for the same id; conflict if another id holds it.
   */
  reserve(name: string, id: string): string;
  /** Reserves a generated name for `id`: 6 random tries, then the short ID (moby generateNewName). */
  reserveGenerated(id: string, random?: RandomInt): string;
  /** Returns whether the name was reserved. */
  release(name: string): boolean;
  /** Releases every name of `id`; returns them. */
  releaseAll(id: string): string[];
  /**
   * Moves `id`'s name `oldName` to `newName` in one step: on conflict the old name is kept.
   * Returns the canonical new name.
   */
  rename(oldName: string, newName: string): string;
  /** The id holding `name`, if any; invalid names simply hold nothing. */
  get(name: string): string | undefined;
  /** The canonical names of `id`, in reservation order. */
  namesOf(id: string): string[];
  readonly size: number;
}

export function createNameRegistry(): NameRegistry {
  return new Registry();
}

function conflict(name: string, holder: string) {
  return errConflict(
    `Conflict. The container name "${name}" is already in use by container "${holder}". ` +
      "You have to remove (or rename) that container to be able to reuse that name.",
  );
}

class Registry implements NameRegistry {
  readonly #idByName = new Map<string, string>();
  readonly #namesById = new Map<string, Set<string>>();

  get size(): number {
    return this.#idByName.size;
  }

  reserve(name: string, id: string): string {
    const canonical = normalizeContainerName(name);
    const holder = this.#idByName.get(canonical);
    if (holder !== undefined && holder !== id) throw conflict(canonical, holder);
    this.#idByName.set(canonical, id);
    let names = this.#namesById.get(id);
    if (names === undefined) this.#namesById.set(id, (names = new Set()));
    names.add(canonical);
    return canonical;
  }

  reserveGenerated(id: string, random?: RandomInt): string {
    for (let attempt = 0; attempt < 6; attempt++) {
      const name = "/" + generateContainerName(attempt, random);
      if (!this.#idByName.has(name)) return this.reserve(name, id);
    }
    return this.reserve("/" + id.slice(0, 12), id);
  }

  release(name: string): boolean {
    if (!isValidContainerName(name)) return false;
    const canonical = normalizeContainerName(name);
    const id = this.#idByName.get(canonical);
    if (id === undefined) return false;
    this.#idByName.delete(canonical);
    const names = this.#namesById.get(id);
    names?.delete(canonical);
    if (names?.size === 0) this.#namesById.delete(id);
    return true;
  }

  releaseAll(id: string): string[] {
    const names = [...(this.#namesById.get(id) ?? [])];
    for (const name of names) this.release(name);
    return names;
  }

  rename(oldName: string, newName: string): string {
    const from = normalizeContainerName(oldName);
    const to = normalizeContainerName(newName);
    const id = this.#idByName.get(from);
    if (id === undefined) throw errNotFound(`No such container name: ${from}`);
    if (from === to) throw errInvalidArgument("Renaming a container with the same name as its current name");
    this.reserve(to, id);
    this.release(from);
    return to;
  }

  get(name: string): string | undefined {
    if (!isValidContainerName(name)) return undefined;
    return this.#idByName.get(normalizeContainerName(name));
  }

  namesOf(id: string): string[] {
    return [...(this.#namesById.get(id) ?? [])];
  }
}
