// The build version reported in app_info, read from package.json once at load.
import pkg from '../package.json';

export const version: string = pkg.version;
