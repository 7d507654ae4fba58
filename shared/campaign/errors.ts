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
