/**
 * The calculation graph's configuration input (Felix's ConfigBatcher): the FelixConfiguration resources that
 * apply to this node (`default` and `node.<hostname>`), decoded through the parameter table and merged over
 * the agent's lower layers (built-in defaults, calico-node's defaults) and under its environment. `flush`
 * returns a `configUpdate` only when the effective configuration or a parameter's source changed. Pure.
 */
import {
  type ConfigLayer,
  felixValuesFromSpec,
  type PartialFelixConfig,
  resolveFelixConfig,
  type ResolvedFelixConfig,
} from '../api/v3/felix-config.js';
import { changedParams } from '../api/v3/felix-config.js';

export interface ConfigInputs {
  /** Layers below the datastore (calico-node's defaults), lowest first. */
  readonly below?: readonly ConfigLayer[];
  /** FELIX_* environment values: above every datastore source. */
  readonly env?: PartialFelixConfig;
}

export class FelixConfigInput {
  readonly #hostname: string;
  readonly #inputs: ConfigInputs;
  #global: PartialFelixConfig | undefined;
  #node: PartialFelixConfig | undefined;
  #sent: ResolvedFelixConfig | undefined;

  constructor(hostname: string, inputs: ConfigInputs = {}) {
    this.#hostname = hostname;
    this.#inputs = inputs;
  }

  /** A FelixConfiguration was set or deleted; false when it does not apply to this node. */
  onResource(name: string, spec: unknown): boolean {
    const values = spec === undefined ? undefined : felixValuesFromSpec(spec).values;
    if (name === 'default') this.#global = values;
    else if (name === `node.${this.#hostname}`) this.#node = values;
    else return false;
    return true;
  }

  resolve(): ResolvedFelixConfig {
    const layers: ConfigLayer[] = [...(this.#inputs.below ?? [])];
    if (this.#global !== undefined) layers.push({ source: 'datastore-global', values: this.#global });
    if (this.#node !== undefined) layers.push({ source: 'datastore-node', values: this.#node });
    if (this.#inputs.env !== undefined) layers.push({ source: 'env', values: this.#inputs.env });
    return resolveFelixConfig(layers);
  }

  /** The configuration to send, if it differs from the last one sent (`force`: send it regardless). */
  flush(force = false): ResolvedFelixConfig | undefined {
    const next = this.resolve();
    const prev = this.#sent;
    if (!force && prev !== undefined && !differs(prev, next)) return undefined;
    this.#sent = next;
    return next;
  }
}

function differs(a: ResolvedFelixConfig, b: ResolvedFelixConfig): boolean {
  if (changedParams(a.config, b.config).length > 0) return true;
  const keys = new Set([...Object.keys(a.sources), ...Object.keys(b.sources)]) as Set<keyof typeof a.sources>;
  return [...keys].some((k) => a.sources[k] !== b.sources[k]);
}
