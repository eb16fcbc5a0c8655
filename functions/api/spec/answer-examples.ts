/**
 * Parts of the models' answers that both the OpenAPI examples (each route's) and the model cards'
 * samples (`GET /v1/models`) show: one source, so the two never tell different stories.
 */

/** A scanned receipt, as the local PP-OCRv4 model reads it. */
export const receiptOcr: {
  text: string;
  lines: { text: string; confidence: number; box: [number, number][] }[];
} = {
  text: 'CORNER CAFE\nFlat white 3.40',
  lines: [
    {
      text: 'CORNER CAFE',
      confidence: 0.987,
      box: [
        [24, 18],
        [212, 18],
        [212, 46],
        [24, 46],
      ],
    },
    {
      text: 'Flat white 3.40',
      confidence: 0.962,
      box: [
        [24, 62],
        [236, 62],
        [236, 88],
        [24, 88],
      ],
    },
  ],
};

/** A photo of a landscape, as the local mobilenet-v2 model scores it. */
type Category = 'drawing' | 'hentai' | 'neutral' | 'porn' | 'sexy';

export const landscapeModeration: {
  flagged: boolean;
  categories: Record<Category, boolean>;
  category_scores: Record<Category, number>;
} = {
  flagged: false,
  categories: { drawing: false, hentai: false, neutral: true, porn: false, sexy: false },
  category_scores: { drawing: 0.0213, hentai: 0.0011, neutral: 0.9684, porn: 0.0027, sexy: 0.0065 },
};
