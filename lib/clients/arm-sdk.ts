// The ARM SDK modules arm.ts loads on first use, as one import. Re-exported statically because
// @azure/arm-authorization is CommonJS: esbuild turns a module that `import()` loads into a chunk of
// its own, and a CommonJS chunk has only a default export, so names taken from `await import()` of it
// would be undefined in the bundle (tsx and Node find them either way).
export { AuthorizationManagementClient } from '@azure/arm-authorization';
export { SubscriptionClient } from '@azure/arm-subscriptions';
export { createPipelineRequest } from '@azure/core-rest-pipeline';
