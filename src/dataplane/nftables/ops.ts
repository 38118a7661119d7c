/**
 * The operations of an nft transaction, as data: the planner (plan.ts) produces them, the renderer (render.ts)
 * turns each into script lines. Types only.
 */
import type { ForeignKind } from './kernel-state.js';
import type { BaseChainHook, MapKeyType, SetElementType } from './model.js';

export type NftOp =
  | { readonly kind: 'addTable' }
  | { readonly kind: 'deleteTable' }
  | { readonly kind: 'addChain'; readonly name: string; readonly hook: BaseChainHook | undefined }
  | { readonly kind: 'flushChain'; readonly name: string }
  | { readonly kind: 'deleteChain'; readonly name: string }
  | { readonly kind: 'addRule'; readonly chain: string; readonly text: string; readonly comment: string }
  | {
      readonly kind: 'addSet';
      readonly name: string;
      readonly type: SetElementType;
      readonly interval: boolean;
      /** `flags timeout`: a learned-address set (model.ts SetSpec.timeout). */
      readonly timeout: boolean;
    }
  | { readonly kind: 'deleteSet'; readonly name: string }
  | {
      readonly kind: 'addElements' | 'deleteElements';
      readonly set: string;
      readonly type: SetElementType;
      readonly elements: readonly string[];
    }
  | {
      /** Learned addresses, each with its own timeout in whole seconds (NftTable.programLearned). */
      readonly kind: 'addTimedElements';
      readonly set: string;
      readonly elements: readonly { readonly element: string; readonly timeoutS: number }[];
    }
  | { readonly kind: 'addMap'; readonly name: string; readonly keyType: MapKeyType }
  | { readonly kind: 'deleteMap'; readonly name: string }
  | {
      readonly kind: 'addMapElements';
      readonly map: string;
      readonly keyType: MapKeyType;
      readonly entries: readonly (readonly [string, string])[];
    }
  | {
      readonly kind: 'deleteMapElements';
      readonly map: string;
      readonly keyType: MapKeyType;
      readonly keys: readonly string[];
    }
  | { readonly kind: 'deleteObject'; readonly objectKind: ForeignKind; readonly name: string };
