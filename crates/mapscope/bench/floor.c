/* The I/O floor of the DWARF inspector's bench, independent of mapscope: map an ELF file and
 * read every byte of every section whose name starts with ".debug_" once (summing them as
 * 64-bit words, so that no byte can be skipped), the least any DWARF reader of the whole file
 * must do. Compressed sections are read as stored, not inflated.
 *
 *   cc -O2 -o floor floor.c && ./floor BINARY
 *
 * Prints "<bytes> bytes in <n> .debug_* sections (checksum <sum>)"; exit 2 on bad input. */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t sum_bytes(const unsigned char *p, uint64_t n) {
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, sizeof w);
        s0 += w[0];
        s1 += w[1];
        s2 += w[2];
        s3 += w[3];
    }
    for (; i < n; i++)
        s0 += p[i];
    return s0 ^ s1 ^ s2 ^ s3;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: floor BINARY\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        fprintf(stderr, "floor: cannot read %s\n", argv[1]);
        return 2;
    }
    uint64_t size = (uint64_t)st.st_size;
    const unsigned char *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED || memcmp(base, ELFMAG, SELFMAG) != 0 || base[EI_CLASS] != ELFCLASS64) {
        fprintf(stderr, "floor: %s is not a 64-bit ELF file\n", argv[1]);
        return 2;
    }
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
    if (eh->e_shoff == 0 || eh->e_shstrndx >= eh->e_shnum ||
        eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > size) {
        fprintf(stderr, "floor: %s has no usable section headers\n", argv[1]);
        return 2;
    }
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(base + eh->e_shoff);
    const Elf64_Shdr *names = &sh[eh->e_shstrndx];
    if (names->sh_offset > size || names->sh_size > size - names->sh_offset) {
        fprintf(stderr, "floor: %s has a section name table outside the file\n", argv[1]);
        return 2;
    }
    uint64_t total = 0, sum = 0, count = 0;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type == SHT_NOBITS || sh[i].sh_name >= names->sh_size ||
            names->sh_size - sh[i].sh_name < 8)
            continue;
        const char *name = (const char *)base + names->sh_offset + sh[i].sh_name;
        if (memcmp(name, ".debug_", 7) != 0 || sh[i].sh_offset > size ||
            sh[i].sh_size > size - sh[i].sh_offset)
            continue;
        sum += sum_bytes(base + sh[i].sh_offset, sh[i].sh_size);
        total += sh[i].sh_size;
        count++;
    }
    printf("%llu bytes in %llu .debug_* sections (checksum %llu)\n", (unsigned long long)total,
           (unsigned long long)count, (unsigned long long)sum);
    return 0;
}
