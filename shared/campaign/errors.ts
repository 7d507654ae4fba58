/**
 * Bad campaign input: names the file (or request), the line and the column so the person fixing the data
 * can go straight to it. Lines are 1-based file lines; the header is line 1.
 */
export class CampaignInputError extends Error {
  override name = 'CampaignInputError';
  constructor(
    readonly source: string,
    readonly line: number | undefined,
    readonly column: string | undefined,
    readonly problem: string,
  ) {
    super(
      [
        source,
        line === undefined ? undefined : `line ${line}`,
        column === undefined ? undefined : `column '${column}'`,
      ]
        .filter((part) => part !== undefined)
        .join(', ') + `: ${problem}`,
    );
  }
}

/**
 * A table the model needs was not given: the model was trained with campaign (or product) features, so
 * planning needs the campaigns (or products) file. Commands and settings name their own option for it
 * (`--campaigns`, CAMPAIGN_BATCH_CAMPAIGNS_PATH).
 */
export class MissingTableError extends Error {
  override name = 'MissingTableError';
  constructor(
    readonly table: 'campaigns' | 'products',
    readonly problem: string,
  ) {
    super(`no ${table} file: ${problem}`);
  }
}
