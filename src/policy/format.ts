/** Human-readable rendering of decisions and traces (calicoctl policy explain, conformance failures). */
import type { Decider, Decision, DirectionTrace, RuleHit, TraceEvent } from './trace.js';

function ruleRef(hit: RuleHit): string {
  const policy = hit.namespace !== undefined ? `${hit.namespace}/${hit.policyName}` : hit.policyName;
  const d = hit.domain;
  const domain =
    d === undefined
      ? ''
      : `, domain ${d.pattern} matched ${d.name}${d.networkSet !== undefined ? ` (allowedEgressDomains of ${d.networkSet})` : ''}`;
  return `tier ${hit.tier}, policy ${policy}, rule ${hit.ruleIndex} (${hit.action})${domain}`;
}

/** One line saying what decided a direction. */
export function describeDecider(d: Decider, direction: 'ingress' | 'egress'): string {
  const rules = direction === 'ingress' ? 'ingress' : 'egress';
  switch (d.kind) {
    case 'rule':
      return `${d.hit.action === 'Allow' ? 'allowed' : 'denied'} by ${ruleRef(d.hit)}${
        d.stage !== 'normal' ? ` [${d.stage}]` : ''
      } in ${rules} rules`;
    case 'endOfTier':
      return `denied at end of tier ${d.tier}: policies ${d.policies.join(', ')} select the endpoint and no ${rules} rule allowed or passed it`;
    case 'profile':
      return `${d.action === 'Allow' ? 'allowed' : 'denied'} by profile ${d.profile}, ${rules} rule ${d.ruleIndex}`;
    case 'noProfileAllowed':
      return d.profiles.length === 0
        ? 'denied: no policy allowed it and the endpoint has no profiles'
        : `denied: no policy decided and no profile allowed it (profiles ${d.profiles.join(', ')})`;
    case 'failsafe':
      return `allowed by failsafe port ${d.protocol}/${d.port}`;
    case 'endpointToHost':
      return d.action === 'Return'
        ? 'allowed by defaultEndpointToHostAction Return (workload to its own host: handed back to the INPUT chain, where no host endpoint policy applies)'
        : `${d.action === 'Accept' ? 'allowed' : 'denied'} by defaultEndpointToHostAction ${d.action} (workload to its own host)`;
    case 'hostToLocalWorkload':
      return "allowed: Calico does not police a host's traffic to its own workloads (neither host endpoint egress nor workload ingress policy applies)";
    case 'forwardDefault':
      return d.reason === 'noPolicy'
        ? `allowed: no applyOnForward policy selects the host endpoint for ${rules} (forwarded traffic is allowed by default)`
        : `not dropped: every tier of applyOnForward policy passed it and forwarded traffic has no profiles`;
  }
}

function describeEvent(e: TraceEvent): string {
  switch (e.kind) {
    case 'tier':
      return `tier ${e.tier}${e.stage !== 'normal' ? ` (${e.stage})` : ''}: ${e.policies.join(', ')}`;
    case 'hit':
      return `  match ${e.hit.namespace !== undefined ? `${e.hit.namespace}/` : ''}${e.hit.policyName} rule ${e.hit.ruleIndex} -> ${e.hit.action}`;
    case 'tierPass':
      return `  end of tier ${e.tier}: default action Pass`;
    case 'profiles':
      return e.profiles.length === 0 ? 'profiles: (none)' : `profiles: ${e.profiles.join(', ')}`;
    case 'profileLog':
      return `  profile ${e.profile} rule ${e.ruleIndex} -> Log`;
    case 'missingProfile':
      return `  profile ${e.profile} does not exist (skipped)`;
    case 'stageFrom':
      return `${e.stage} policy of ${e.endpoint}, the endpoint for all interfaces (no ${e.stage} policy of the interface's own)`;
    case 'failsafeSkip':
      return `failsafe port ${e.protocol}/${e.port}: ${e.stage} policy skipped`;
  }
}

/** `ingress of production/web`, `forward ingress of eth0-node1` (a host endpoint the packet is routed through). */
function subject(t: DirectionTrace): string {
  return `${t.stage === 'forward' ? 'forward ' : ''}${t.direction} of ${t.endpoint}`;
}

export function formatDirection(t: DirectionTrace): string[] {
  const head = `${subject(t)}: ${t.verdict.toUpperCase()}, ${describeDecider(t.decidedBy, t.direction)}`;
  return [head, ...t.path.map((e) => `    ${describeEvent(e)}`)];
}

/** One compact line: `egress ALLOW (...); ingress DENY (...)`. */
export function summarizeDecision(d: Decision): string {
  const parts: string[] = [];
  for (const t of [d.egress, ...(d.forward ?? []), d.ingress]) {
    if (t !== undefined)
      parts.push(`${subject(t)} ${t.verdict.toUpperCase()}: ${describeDecider(t.decidedBy, t.direction)}`);
  }
  return parts.length === 0 ? 'neither end is a Calico endpoint: no policy applies' : parts.join('; ');
}

export function formatDecision(d: Decision): string[] {
  const lines = [`Verdict: ${d.verdict.toUpperCase()}`];
  if (d.egress === undefined) lines.push('egress: source is not a Calico endpoint, no egress policy applies');
  else lines.push(...formatDirection(d.egress));
  for (const t of d.forward ?? []) lines.push(...formatDirection(t));
  if (d.ingress === undefined)
    lines.push('ingress: destination is not a Calico endpoint, no ingress policy applies');
  else lines.push(...formatDirection(d.ingress));
  if (d.pending.verdict !== d.verdict) {
    lines.push(`Pending (with staged policies enforced): ${d.pending.verdict.toUpperCase()}`);
    for (const t of [d.pending.egress, ...(d.pending.forward ?? []), d.pending.ingress])
      if (t !== undefined) lines.push(...formatDirection(t).map((l) => `  ${l}`));
  }
  for (const c of d.caveats ?? []) lines.push(`Caveat: ${c}`);
  return lines;
}
