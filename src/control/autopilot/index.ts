/** Autopilot: the control plane's voter set from membership, as pure decision functions. */
export * from './tags.js';
export * from './config.js';
export { candidateHash, clusterIdFor } from './hash.js';
export { decideBootstrap, type BootCommitment, type BootstrapDecision, type BootstrapInput, type BootstrapMember } from './bootstrap.js';
export { planVoterChange, type VoterPlan, type PlannerInput, type PlannerMember } from './planner.js';
