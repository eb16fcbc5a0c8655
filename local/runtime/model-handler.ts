/**
 * A model hosted by the runtime. `invoke` gets the raw request body and returns a JSON-serialisable
 * answer. Throw `ModelInputError` for a body the model cannot accept (the caller sees a 424
 * ModelError with OriginalStatusCode 400); any other throw is a model failure (OriginalStatusCode 500).
 */
export type ModelHandler = {
  name: string;
  load(): Promise<void>;
  invoke(body: Buffer, contentType: string | undefined): Promise<unknown>;
};

/** The request body is not something the model accepts (the model's own "400"). */
export class ModelInputError extends Error {
  override name = 'ModelInputError';
}
