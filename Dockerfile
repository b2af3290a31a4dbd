# One image for the worker and the webhook receiver (the command picks which).
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY profiles.example.yaml ./profiles.example.yaml
USER node
CMD ["node", "src/worker.ts"]
