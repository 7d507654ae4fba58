import type { Delimiter } from './csv';

/**
 * How `campaign plan`/`batch` options and the campaignBatchPlan timer's settings (shared/config/settings.ts)
 * read the same things, so that both accept the same values and refuse the same mistakes, each naming
 * its own option or setting. Nothing here reads a file.
 */

/** The values a delimiter option or setting takes, for its error message. */
export const DELIMITER_VALUES = "',', ';' or 'tab'";

/** `,`, `;`, or a tab written `tab`, `\t` or `\\t` (setting values are trimmed); undefined for anything else. */
export function parseDelimiter(value: string): Delimiter | undefined {
  if (value === ',' || value === ';') return value;
  if (value === 'tab' || value === '\t' || value === '\\t') return '\t';
  return undefined;
}

/** The optional input files of a plan or batch run. */
export type OptionalPlanFile = 'touches' | 'campaigns' | 'products';

/**
 * The roles whose column is in one optional file only: the timestamp orders the touch history, and the
 * campaign and product ids join the campaigns and products files. Mapping one of them without its file
 * could never be used, so it is refused rather than ignored.
 */
const MAPPED_COLUMN_FILES = {
  timestamp: { file: 'touches', purpose: 'orders the touch history' },
  campaignId: { file: 'campaigns', purpose: 'joins the campaigns file' },
  productId: { file: 'products', purpose: 'joins the products file' },
} as const;

export type SingleFileRole = keyof typeof MAPPED_COLUMN_FILES;

/**
 * The first role of `mapping` whose file is not among `given`, with that file and what the column does
 * (`the column that ${purpose}`), or undefined when every mapped column can be used.
 */
export function mappedColumnWithoutFile(
  mapping: Partial<Record<SingleFileRole, string>>,
  given: Partial<Record<OptionalPlanFile, unknown>>,
): { role: SingleFileRole; file: OptionalPlanFile; purpose: string } | undefined {
  for (const role of Object.keys(MAPPED_COLUMN_FILES) as SingleFileRole[]) {
    const { file, purpose } = MAPPED_COLUMN_FILES[role];
    if (mapping[role] !== undefined && given[file] === undefined) return { role, file, purpose };
  }
  return undefined;
}
