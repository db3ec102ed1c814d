// The soak (stub while the chaos run is brought up).
import type { World } from './world.js';

export async function runSoak(_o: {
  minutes: number;
  clients: number;
  keep: boolean;
  print: (line: string) => void;
  onWorld?: (world: World) => void;
}): Promise<{ ok: boolean }> {
  return { ok: false };
}
