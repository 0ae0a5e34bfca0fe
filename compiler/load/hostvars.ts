// A host's inventory variables as ansible-core 2.14 computes them (VariableManager.get_vars for
// the inventory stages), before any template is evaluated.
import type { Assignment, Inventory, InventoryGroup, InventoryVariable, Origin } from "../types.js";

/**
 * The groups whose variables apply to a host, lowest first: its groups but `all`, sorted by depth,
 * then `ansible_group_priority`, then name (Ansible's sort_groups). Without a host, the deploy
 * group and its ancestors stand for it.
 */
export function groupsOf(inventory: Inventory, host: string | undefined, group: string): InventoryGroup[] {
  let names: string[];
  if (host !== undefined && inventory.hosts.has(host)) {
    names = inventory.hosts.get(host) ?? [];
  } else {
    names = [];
    const stack = inventory.groups.has(group) ? [group] : [];
    while (stack.length > 0) {
      const name = stack.pop() ?? "";
      if (names.includes(name)) continue;
      names.push(name);
      stack.push(...(inventory.groups.get(name)?.parents ?? []));
    }
  }
  // An inventory without the deploy group (group_vars only): its group_vars still apply, as before any host.
  const groups = names.filter((name) => name !== "all").map((name): InventoryGroup | undefined => inventory.groups.get(name));
  if (names.length === 0 && host === undefined) groups.push({ name: group, parents: ["all"], children: [], depth: 1, priority: 1, vars: [] });
  return groups
    .filter((found): found is InventoryGroup => found !== undefined)
    .sort((a, b) => a.depth - b.depth || a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The layers of variables for a host, lowest first, as Ansible's default VARIABLE_PRECEDENCE orders
 * them: `all`'s inline vars, the groups' inline vars, group_vars/all of each source, group_vars/<g>
 * of each source (source, then group order), the host's inline vars, host_vars/<host> of each source.
 */
export function layersOf(inventory: Inventory, host: string | undefined, group: string): Assignment[][] {
  const groups = groupsOf(inventory, host, group);
  const layers: Assignment[][] = [];
  layers.push(...(inventory.groups.get("all")?.vars ?? []));
  for (const found of groups) layers.push(...found.vars);
  for (const source of inventory.groupVars) layers.push(...(source.get("all") ?? []));
  for (const source of inventory.groupVars) for (const found of groups) layers.push(...(source.get(found.name) ?? []));
  if (host !== undefined) {
    layers.push(...(inventory.hostInline.get(host) ?? []));
    for (const source of inventory.hostVars) layers.push(...(source.get(host) ?? []));
  }
  return layers;
}

/** Top-level variables after precedence; a layer setting a name replaces it whole (hash_behaviour=replace). */
export function hostVariables(inventory: Inventory, host: string | undefined, group: string): Map<string, InventoryVariable> {
  const result = new Map<string, InventoryVariable>();
  for (const layer of layersOf(inventory, host, group)) {
    const byName = new Map<string, Assignment[]>();
    for (const assignment of layer) {
      const name = assignment.path[0];
      if (name === undefined) continue;
      const list = byName.get(name) ?? [];
      list.push(assignment);
      byName.set(name, list);
    }
    for (const [name, assignments] of byName) {
      const previous = result.get(name);
      const overrode: Origin[] = previous === undefined ? [] : [...previous.overrode, ...firstOrigin(previous.assignments)];
      result.set(name, { assignments, overrode });
    }
  }
  return result;
}

function firstOrigin(assignments: readonly Assignment[]): Origin[] {
  const first = assignments[0];
  return first === undefined ? [] : [first.origin];
}

/** The plain value of a variable's leaves: `["env","A"]=1, ["env","B"]=2` -> {A: 1, B: 2}. */
export function valueOf(assignments: readonly Assignment[]): unknown {
  const [first] = assignments;
  if (first === undefined) return undefined;
  if (assignments.length === 1 && first.path.length === 1) return first.value;
  const root: Record<string, unknown> = {};
  for (const assignment of assignments) {
    let node = root;
    assignment.path.slice(1).forEach((part, index, parts) => {
      if (index === parts.length - 1) {
        Object.defineProperty(node, part, { value: assignment.value, enumerable: true, writable: true, configurable: true });
        return;
      }
      const next = node[part];
      if (typeof next !== "object" || next === null) {
        Object.defineProperty(node, part, { value: {}, enumerable: true, writable: true, configurable: true });
      }
      node = node[part] as Record<string, unknown>;
    });
  }
  return root;
}
