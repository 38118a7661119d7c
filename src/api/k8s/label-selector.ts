/**
 * Kubernetes LabelSelector (metav1): matchLabels and matchExpressions, validated as the API server does
 * (keys are qualified names, values label values; In/NotIn need values, Exists/DoesNotExist take none).
 */
import { checked, type Decoder, list, oneOf, opt, refine, req, show, struct } from '../decoder.js';
import { checkLabelValue, checkQualifiedName } from '../names.js';
import { labelsField } from '../object-meta.js';
import type { LabelSelector, LabelSelectorRequirement } from './types.js';

const requirement = refine(
  struct<LabelSelectorRequirement>({
    key: req(checked((s) => checkQualifiedName(s, 'label key'))),
    operator: req(oneOf(['In', 'NotIn', 'Exists', 'DoesNotExist'], 'selector operator')),
    values: opt(list(checked(checkLabelValue))),
  }),
  (r, path, issues) => {
    const n = (r.values ?? []).length;
    if ((r.operator === 'In' || r.operator === 'NotIn') && n === 0 && !issues.hasAt(`${path}.values`)) {
      issues.add(`${path}.values`, `values must be specified when operator is ${show(r.operator)}`);
    }
    if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && n > 0) {
      issues.add(
        `${path}.values`,
        `values ${show(r.values)} may not be specified when operator is ${show(r.operator)}`,
      );
    }
  },
);

export const labelSelectorField: Decoder<LabelSelector> = struct<LabelSelector>({
  matchLabels: opt(labelsField),
  matchExpressions: opt(list(requirement)),
});
