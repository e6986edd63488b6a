/** The zod inputs routers take addresses as (server/addresses.ts is the vocabulary). */
import { z } from 'zod';
import { MAX_FEATURE_INDEX } from './addresses';

// Slugs are taken as any short text: one that is not registered is NOT_FOUND, like one the viewer may not see.
export const slugInput = z.string().min(1).max(200);
export const featureIndexInput = z.number().int().min(0).max(MAX_FEATURE_INDEX);
export const saeAddressInput = z.object({ model: slugInput, sae: slugInput });
export const featureAddressInput = saeAddressInput.extend({ index: featureIndexInput });
