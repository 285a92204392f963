/**
 * The retained libcontainerd handles a State holds. State only needs to know they exist (and the
 * task's pid), so it is generic over them; the engine instantiates it with these.
 */
import type { Container, Task } from "../libcontainerd/index.js";

export interface ContainerHandle {
  readonly id: string;
}

export interface TaskHandle {
  readonly pid: number;
}

export type LibcontainerdContainer = Container;
export type LibcontainerdTask = Task;
