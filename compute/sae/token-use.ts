/**
 * How much of a corpus an SAE was trained on. A corpus is cut silently nowhere: when the token limit keeps only its
 * first contexts, or when steps × batch size reach fewer activations than there are, the trainer's caller says so.
 */
export interface TokenUse {
  /** tokens in the corpus's whole contexts */
  corpusTokens: number;
  /** the tokens whose activations were collected: the corpus, or its first contexts up to the token limit */
  selectedTokens: number;
  /** activations that went into at least one optimizer step (TrainSaeResult.tokensUsed) */
  tokensUsed: number;
  steps: number;
  batchSize: number;
}

/** One sentence saying what was left out and why, or undefined when training used the whole corpus. */
export function describeTokenUse(use: TokenUse, limit: string): string | undefined {
  const { corpusTokens, selectedTokens, tokensUsed, steps, batchSize } = use;
  if (tokensUsed >= corpusTokens) return undefined;
  const reasons: string[] = [];
  if (selectedTokens < corpusTokens) reasons.push(`${limit} kept the first ${selectedTokens}`);
  if (tokensUsed < selectedTokens) reasons.push(`${steps} steps × ${batchSize} tokens per step reach ${tokensUsed} of those ${selectedTokens}`);
  return `trained on ${tokensUsed} of the corpus's ${corpusTokens} tokens: ${reasons.join('; ')}`;
}
