export interface VerifyDunningSignatureInput {
  /** The signature header's value: `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`. */
  header: string;
  /** The request body exactly as received, before any parsing. */
  rawBody: string | Uint8Array;
  /** The endpoint's secret (`whsec_…`). */
  secret: string;
  /** How far the header's timestamp may be from now, in seconds (300). */
  toleranceSeconds?: number;
  /** Now, in unix seconds (the system clock). */
  nowSeconds?: number;
}

/** True when the header is fresh and one of its `v1` signatures was made with `secret` over `<t>.<rawBody>`. */
export declare function verifyDunningSignature(input: VerifyDunningSignatureInput): boolean;
