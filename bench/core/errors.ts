/** A reason the run cannot produce trustworthy figures: ends the run with exit code 1. */
export class CannotMeasure extends Error {}
