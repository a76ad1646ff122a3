/** The HTML report a verdict links to, rendered from the verdict document with every value escaped. */
export * from './html-escape';
export * from './html-report';
