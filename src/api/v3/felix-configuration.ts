/**
 * FelixConfiguration (reference §1.13): `default` (global), `node.<name>` (per node), or any other name with
 * `spec.nodeSelector`. Every field of Calico's FelixConfigurationSpec decodes, through the one parameter
 * table (felix-config-params.ts): types, enums in any letter case (stored in the API's spelling), ranges,
 * ports, addresses, durations (stored as Go prints them: `90s` becomes `1m30s`, as Calico's API server
 * stores it). Unknown fields are rejected like every Calico kind. Fields calico-ts does not implement are
 * accepted; `felixConfigurationWarnings` lists them for calicoctl and the agent says so in its log.
 */
import { calicoKind } from '../codec.js';
import type { Decoder, FieldSpec, StructSpec } from '../decoder.js';
import { opt, schemaOf, show, struct, type Issues, withSchema } from '../decoder.js';
import type { ObjectMeta } from '../meta.js';
import { checkSubdomain } from '../names.js';
import { selectorField } from '../selector-field.js';
import { RESOURCE_PARAM_NAMES } from './felix-config.js';
import { type FelixParamName, paramDef } from './felix-config-params.js';

export { felixConfigurationWarnings } from './felix-config.js';

/** The stored spec: each field in the form Calico stores it (see the parameter table for the types). */
export type FelixConfigurationSpec = { readonly [K in FelixParamName]?: unknown } & {
  readonly nodeSelector?: string;
};

/** Decodes one field with its parameter type and keeps the stored (canonical) form. */
function storedForm(name: FelixParamName): Decoder<unknown> {
  const t = paramDef(name).type;
  return withSchema(schemaOf(t.decode), (v, path, issues) => {
    const d = t.decode(v, path, issues);
    return d === undefined ? undefined : t.encode(d);
  });
}

const fields: Record<string, FieldSpec<unknown>> = { nodeSelector: opt(selectorField()) };
for (const name of RESOURCE_PARAM_NAMES) fields[name] = opt(storedForm(name));

const spec = struct<FelixConfigurationSpec>(fields as StructSpec<FelixConfigurationSpec>);

function check(metadata: ObjectMeta, s: FelixConfigurationSpec, issues: Issues): void {
  const name = metadata.name;
  if (s.nodeSelector !== undefined && (name === 'default' || name.startsWith('node.'))) {
    issues.add('spec.nodeSelector', `nodeSelector may not be set on FelixConfiguration ${show(name)}`);
  }
  if (s.routeTableRange !== undefined && s.routeTableRanges !== undefined) {
    issues.add('spec.routeTableRanges', 'routeTableRange and routeTableRanges cannot both be set');
  }
}

export const felixConfigurationCodec = calicoKind({
  kind: 'FelixConfiguration',
  checkName: (name) => checkSubdomain(name),
  spec,
  check,
});
