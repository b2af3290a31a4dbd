# One image for the worker and the webhook receiver (the command picks which).
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
# The workflow code bundled once, here, so that no worker carries the bundler in its memory.
RUN node src/workflow-bundle.ts /app/workflows.js
ENV WORKFLOW_BUNDLE=/app/workflows.js
COPY profiles.example.yaml ./profiles.example.yaml
USER node
CMD ["node", "src/worker.ts"]
