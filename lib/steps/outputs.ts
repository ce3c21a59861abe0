/** What became of an object deprovision looked after. */
export type Removal = 'removed' | 'already gone' | 'kept';

/**
 * What each step records in the state file (`steps.<id>.outputs`) and later steps read: the one list
 * of step outputs. The key is the step id, and lib/steps/<id>.ts is the step. Never a secret.
 */
export interface StepOutputs {
  /** Preflight is never recorded (it runs every time); spotLinkedClientId: the app whose credentials Spot holds now. */
  preflight: {
    accountId: string;
    accountName: string;
    subscriptionId: string;
    subscriptionName: string;
    subscriptionTenantId?: string;
    spotLinkedClientId?: string;
  };
  tenant: { tenantId: string; tenantName: string };
  subscription: { subscriptionId: string; subscriptionName: string };
  app: { appId: string; applicationObjectId: string; appName: string; uniqueName?: string };
  'service-principal': { servicePrincipalId: string };
  secret: { secretKeyId: string; secretExpiresAt: string };
  /** roleDefinitionId and roleName are missing from links made before --role existed: those hold Contributor. */
  role: { roleAssignmentId: string; roleDefinitionId?: string; roleName?: string; roleAssignmentPreexisting?: 'true' };
  link: { linkedAt: string };
  'rotate-add-secret': { newSecretKeyId: string; newSecretExpiresAt: string };
  'rotate-link': { rotatedAt: string };
  'rotate-remove-old': Record<never, never>;
  'remove-role': { roleAssignmentRemoval: Removal };
  'remove-service-principal': { servicePrincipalRemoval: Removal };
  'remove-app': { applicationRemoval: Removal };
  'remove-spot-account': { spotAccountRemoval: Removal };
}

export type StepId = keyof StepOutputs;

type Merged<U> = (U extends unknown ? (all: U) => void : never) extends (all: infer I) => void ? I : never;

/** Every step's outputs side by side, as a run gathers them (from the state, then from the steps it runs). */
export type Outputs = Partial<Merged<StepOutputs[StepId]>>;

export interface StepRecord<K extends StepId = StepId> {
  outputs: StepOutputs[K];
  at: string;
}

/** The state file's `steps`: each step's record under its id. */
export type StepRecords = { [K in StepId]?: StepRecord<K> };
