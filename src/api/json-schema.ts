/**
 * The shape description a decoder carries (a subset of OpenAPI v3 / JSON Schema, as Kubernetes' structural
 * schemas use it). Combinators in `decoder.ts` build it from what they accept, so the published OpenAPI and
 * the CRD schemas cannot drift from validation; hand-written decoders attach theirs with `withSchema`. A
 * decoder without one is described as `OPEN_SCHEMA` (any value). Pure data, JSON-serialisable.
 */
export type SchemaType = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array';

export interface Schema {
  readonly type?: SchemaType;
  readonly format?: string;
  readonly description?: string;
  readonly enum?: readonly (string | number)[];
  readonly nullable?: boolean;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly items?: Schema;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: Schema;
  /** Kubernetes' marker for numorstring values (Calico's ports and protocols, IntOrString). */
  readonly 'x-kubernetes-int-or-string'?: true;
  /** Any value (or, on an object, any further fields). */
  readonly 'x-kubernetes-preserve-unknown-fields'?: true;
}

/** What a decoder without a described shape accepts, as far as the schema can tell: anything. */
export const OPEN_SCHEMA: Schema = { 'x-kubernetes-preserve-unknown-fields': true };

/** A number or a string (Calico's numorstring types). */
export const INT_OR_STRING_SCHEMA: Schema = { 'x-kubernetes-int-or-string': true };

/** A string-to-string map (labels, annotations). */
export const STRING_MAP_SCHEMA: Schema = { type: 'object', additionalProperties: { type: 'string' } };

/** The same schema with a description (replacing any it had). */
export function described(schema: Schema, description: string): Schema {
  return { ...schema, description };
}
