// Lambda entries for the workflow's tasks: plan, send and handOff. Filled in by the steps module.
export const plan = async (): Promise<unknown> => ({});
export const send = async (): Promise<unknown> => ({});
export const handOff = async (): Promise<unknown> => ({});
