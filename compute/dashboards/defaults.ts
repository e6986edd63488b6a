/** What every feature dashboard holds unless its options say otherwise (no TensorFlow here: the job params read it too). */

/** bins of the histograms */
export const HISTOGRAM_BINS = 50;
/** top examples per feature */
export const TOP_K = 20;
/** quantile intervals, and examples drawn in each */
export const INTERVALS = 10;
export const EXAMPLES_PER_INTERVAL = 5;
