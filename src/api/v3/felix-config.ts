/**
 * Felix's configuration, resolved: values read from FelixConfiguration specs and from `FELIX_*` environment
 * variables through the one parameter table (felix-config-params.ts), merged by Felix's precedence (built-in
 * default < FelixConfiguration `default` < `node.<name>` < environment; the agent adds calico-node's own
 * defaults just above the built-in ones), with the source that won for each parameter. Changes are found by
 * each type's equality, never by comparing JSON text. Pure.
 *
 *   const env = felixValuesFromEnv(process.env);            // problems name the variable
 *   const { config, sources } = resolveFelixConfig([{ source: 'datastore-global', values }, { source: 'env', values: env.values }]);
 */
import type { FieldIssue } from '../../lib/errors.js';
import { Issues, isRecord, show } from '../decoder.js';
import {
  envNameOf,
  FELIX_PARAM_NAMES,
  FELIX_PARAMS,
  type FelixConfig,
  type FelixParamName,
  paramDef,
} from './felix-config-params.js';

export type PartialFelixConfig = { -readonly [K in FelixParamName]?: FelixConfig[K] };

/** Where a parameter's value came from, lowest precedence first. */
export type ConfigSource = 'default' | 'calico-node' | 'datastore-global' | 'datastore-node' | 'env';

export interface ConfigLayer {
  readonly source: ConfigSource;
  readonly values: Readonly<PartialFelixConfig>;
}

export interface ResolvedFelixConfig {
  readonly config: FelixConfig;
  /** The source that set each parameter that is not at its built-in default. */
  readonly sources: Readonly<Partial<Record<FelixParamName, ConfigSource>>>;
}

export const DEFAULT_FELIX_CONFIG: FelixConfig = Object.freeze(
  Object.fromEntries(FELIX_PARAM_NAMES.map((n) => [n, paramDef(n).default])) as unknown as FelixConfig,
);

/** Parameters that FelixConfiguration may set (everything but the environment-only ones). */
export const RESOURCE_PARAM_NAMES: readonly FelixParamName[] = FELIX_PARAM_NAMES.filter(
  (n) => paramDef(n).local !== true,
);

function set(out: PartialFelixConfig, name: FelixParamName, value: unknown): void {
  (out as Record<string, unknown>)[name] = value;
}

/**
 * The parameters a FelixConfiguration spec sets. An invalid field is reported (at `spec.<field>`) and left
 * out, so the next source down applies, as Felix does for a value it cannot parse.
 */
export function felixValuesFromSpec(
  spec: unknown,
  path = 'spec',
): { readonly values: PartialFelixConfig; readonly issues: readonly FieldIssue[] } {
  const values: PartialFelixConfig = {};
  const issues = new Issues();
  if (!isRecord(spec)) return { values, issues: issues.list };
  for (const name of RESOURCE_PARAM_NAMES) {
    const raw = spec[name];
    if (raw === undefined || raw === null) continue;
    const v = paramDef(name).type.decode(raw, `${path}.${name}`, issues);
    if (v !== undefined) set(values, name, v);
  }
  return { values, issues: issues.list };
}

export interface EnvValues {
  readonly values: PartialFelixConfig;
  /** `FELIX_X: problem` for each variable whose value is invalid. */
  readonly problems: readonly string[];
  /** `FELIX_*` variables that name no parameter calico-ts knows. */
  readonly unknown: readonly string[];
}

const BY_ENV_NAME: ReadonlyMap<string, FelixParamName> = new Map(
  FELIX_PARAM_NAMES.map((n) => [envNameOf(n), n]),
);

/** The parameters the environment sets (`FELIX_<NAME>`, names matched case-insensitively, as Felix does). */
export function felixValuesFromEnv(env: Readonly<Record<string, string | undefined>>): EnvValues {
  const values: PartialFelixConfig = {};
  const problems: string[] = [];
  const unknown: string[] = [];
  for (const [key, raw] of Object.entries(env)) {
    if (raw === undefined || !key.toUpperCase().startsWith('FELIX_')) continue;
    const name = BY_ENV_NAME.get(key.toUpperCase());
    if (name === undefined) {
      unknown.push(key);
      continue;
    }
    const r = paramDef(name).type.parseEnv(raw);
    if (r.ok) set(values, name, r.value);
    else problems.push(`${key}: ${r.error}`);
  }
  return { values, problems, unknown: unknown.sort() };
}

export function resolveFelixConfig(layers: readonly ConfigLayer[]): ResolvedFelixConfig {
  const config: Record<string, unknown> = { ...DEFAULT_FELIX_CONFIG };
  const sources: Partial<Record<FelixParamName, ConfigSource>> = {};
  for (const layer of layers) {
    for (const name of FELIX_PARAM_NAMES) {
      const v = layer.values[name];
      if (v === undefined) continue;
      config[name] = v;
      sources[name] = layer.source;
    }
  }
  return { config: Object.freeze(config) as unknown as FelixConfig, sources };
}

function sameValue(name: FelixParamName, a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  return paramDef(name).type.equal(a, b);
}

/** The parameters whose values differ. */
export function changedParams(a: FelixConfig, b: FelixConfig): FelixParamName[] {
  return FELIX_PARAM_NAMES.filter((n) => !sameValue(n, a[n], b[n]));
}

/** A value as the resource writes it (for log lines and warnings). */
export function formatParamValue(name: FelixParamName, value: unknown): string {
  return value === undefined ? '<unset>' : show(paramDef(name).type.encode(value));
}

/** Parameters a user set (datastore or environment) that calico-ts accepts but does not implement. */
export function unimplementedParams(sources: ResolvedFelixConfig['sources']): FelixParamName[] {
  return FELIX_PARAM_NAMES.filter((n) => {
    const s = sources[n];
    return s !== undefined && s !== 'default' && s !== 'calico-node' && FELIX_PARAMS[n].use === undefined;
  });
}

export const NOT_IMPLEMENTED = 'accepted, but not implemented by calico-ts (it has no effect)';

/** Warnings for the fields of a FelixConfiguration spec that calico-ts does not implement. */
export function felixConfigurationWarnings(spec: unknown, path = 'spec'): FieldIssue[] {
  if (!isRecord(spec)) return [];
  return RESOURCE_PARAM_NAMES.filter(
    (n) => spec[n] !== undefined && spec[n] !== null && FELIX_PARAMS[n].use === undefined,
  ).map((n) => ({ path: `${path}.${n}`, message: NOT_IMPLEMENTED }));
}
