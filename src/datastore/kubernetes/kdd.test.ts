/** The shared datastore conformance suite against a real kube-apiserver (one control plane for the file). */
import { runBackendConformance } from '../conformance.js';
import { kubernetesTarget } from '../testing/targets.js';

runBackendConformance(kubernetesTarget());
