// Which values are secret: a property of the validated spec alone (vault values, secret variables,
// secret env keys), so every phase and command that masks or digests asks here, never validate.
import type { Spec } from "./types.js";

/** Whether the value at a JSON pointer must be masked (check, explain) or left out (the inputs digest). */
export function isSecretPointer(spec: Spec, pointer: string): boolean {
  const [top, key] = pointer.split("/").slice(1);
  if (spec.values.get(pointer)?.isSecret === true) return true;
  if (top !== undefined && spec.secretVariables.includes(top)) return true;
  return top === "env" && key !== undefined && secretEnvKeys(spec).has(key);
}

const secretEnvKeysOf = new WeakMap<Spec, Set<string>>();

/** Secret env keys as a set: explain asks once per value, and a spec may have 20,000 keys. */
function secretEnvKeys(spec: Spec): Set<string> {
  let keys = secretEnvKeysOf.get(spec);
  if (keys === undefined) {
    keys = new Set(spec.env.filter((entry) => entry.isSecret).map((entry) => entry.key));
    secretEnvKeysOf.set(spec, keys);
  }
  return keys;
}
