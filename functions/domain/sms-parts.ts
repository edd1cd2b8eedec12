/**
 * How many parts an SMS text is sent as. GSM 03.38 text takes 160 characters in one part and 153 per part when
 * split (the rest of each part is the header that joins them); its extension characters (`^{}\[~]|€`) take two.
 * Any other character (Chinese, emoji) makes the whole text UCS-2: 70 in one part, 67 per part, counted in
 * UTF-16 code units.
 */
const GSM_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENSION = "^{}\\[~]|€\f";

export interface SmsParts {
  encoding: "GSM-7" | "UCS-2";
  /** Characters as the encoding counts them (an extension character is two, a surrogate pair two). */
  units: number;
  parts: number;
}

export function smsParts(text: string): SmsParts {
  let septets = 0;
  for (const char of text) {
    if (GSM_BASIC.includes(char)) septets += 1;
    else if (GSM_EXTENSION.includes(char)) septets += 2;
    else {
      const units = text.length;
      return { encoding: "UCS-2", units, parts: units <= 70 ? 1 : Math.ceil(units / 67) };
    }
  }
  return { encoding: "GSM-7", units: septets, parts: septets <= 160 ? 1 : Math.ceil(septets / 153) };
}
