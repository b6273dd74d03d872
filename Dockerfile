# proconsul registrator (and every other proconsul command) in one image.
#   docker build -t proconsul .
#   docker run -d --net=host -v /var/run/docker.sock:/tmp/docker.sock proconsul -ip=HOST_IP consul://SERVER:8500
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && rm -rf /src

WORKDIR /
ENTRYPOINT ["proconsul", "registrator"]
