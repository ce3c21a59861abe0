import { ApiError } from '../core/errors.ts';
import type { Step } from './step.ts';

/** Deletes the Spot account itself (only with --delete-spot-account). */
export const removeSpotAccount: Step<'remove-spot-account'> = {
  id: 'remove-spot-account',
  title: 'Delete the Spot account',
  async plan(ctx) {
    return { action: 'remove', detail: `the Spot account ${ctx.accountId} itself` };
  },
  async run(ctx) {
    const spot = await ctx.clients.spot();
    try {
      await spot.deleteAccount(ctx.accountId);
    } catch (error) {
      // Spot answers 400 ACCOUNT_NOT_FOUND for an account that does not exist (or no longer does).
      if (error instanceof ApiError && (error.status === 404 || error.code === 'ACCOUNT_NOT_FOUND')) {
        return { outputs: { spotAccountRemoval: 'already gone' }, summary: `Spot account ${ctx.accountId} was already gone` };
      }
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        throw error.withHint('Deleting a Spot account needs an Organization Admin token in SPOTINST_TOKEN.');
      }
      throw error;
    }
    return { outputs: { spotAccountRemoval: 'removed' }, summary: `deleted Spot account ${ctx.accountId}` };
  },
};
